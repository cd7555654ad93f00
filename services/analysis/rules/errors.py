"""The one error a watch rule can fail validation with, shaped for an API field error."""


class RuleError(ValueError):
    """A query that is not a valid watch rule.

    `position` is the 0-based character offset in the query where the problem starts and
    `field` names the input that is wrong, so the API can point the user at the right spot
    of the right form field instead of printing a parser trace.
    """

    def __init__(self, message: str, position: int, field: str = "query") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.field = field

    def __reduce__(self) -> tuple[type["RuleError"], tuple[str, int, str]]:
        # Errors cross process boundaries (job results); keep every attribute when pickled.
        return (type(self), (self.message, self.position, self.field))
