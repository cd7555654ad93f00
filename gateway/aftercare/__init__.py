"""Aftercare: the customers an incident harmed, masked, and the follow-ups owed to them.

Reads `affected_user` (masked columns only; the contact's ciphertext is never loaded) and
`follow_up_task`. Sends AddAffectedUser and CompleteFollowUp to the incidents service.
"""
