"""Aftercare: the customers an incident harmed, masked, and the follow-ups owed to them.

Reads `affected_user` (masked columns only; the contact's ciphertext is never loaded),
`follow_up_task` (searchable by feedback) and `complaint` (through `gateway.mentions`).
Sends AddAffectedUser, CompleteFollowUp, UpdateFollowUp and RevealContact to the incidents service.
"""
