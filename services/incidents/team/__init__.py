"""An incident's team: the roles its playbook calls for and the people assigned to them."""
