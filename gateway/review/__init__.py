"""The post-incident review (复盘): computed sections, root cause and improvement actions.

Reads `review_report` and `improvement_action`. Sends UpdateReview and CompleteReview to the
incidents service. Serves the `reviewReports` list.
"""
