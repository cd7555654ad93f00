"""Export a review as JSON, or as one standalone HTML document with SVG charts.

The rendering lives in `libs.documents.review`, shared with the gateway, which serves the
HTML over REST; this names it where the review's other parts are.
"""

from libs.documents.review import FORMAT, ReviewDocument, to_html, to_json

__all__ = ["FORMAT", "ReviewDocument", "to_html", "to_json"]
