"""The reply library (问答库): mentions filed with the replies used, for finding them again."""
