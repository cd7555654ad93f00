"""How a service process logs: INFO and up, one format, personal data masked."""

import logging

from libs.privacy import install_masking

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging() -> None:
    """Log at INFO in the services' format, masking phone numbers, e-mails and ID numbers."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    install_masking()
