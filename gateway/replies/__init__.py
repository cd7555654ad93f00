"""The reply library (问答库): past cases with the replies used, and search for similar ones.

Reads `reply_case` (through `libs.reply_library`, the search the incidents service uses).
Sends FileReply to the incidents service. Serves `similarReplies`.
"""
