"""What the pipeline could not do for an organization, as its admins read it: dead letters."""
