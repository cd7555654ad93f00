"""The daily risk checks (定期风险排查) the incidents worker stores, as clients read them."""
