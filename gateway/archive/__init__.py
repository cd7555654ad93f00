"""The incident archive (备案存档): one signed dossier of everything an incident left behind."""
