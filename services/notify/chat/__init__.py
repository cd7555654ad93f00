"""Chat alerts: cards for WeCom, DingTalk and Feishu group bots, signed the platforms' way."""
