"""SQL of the analysis service, one module per role; a batch costs a fixed number of trips.

`mentions` reads what a batch analyses, `writes` stores analyses and hits as typed rows,
`stories` keeps stories, their band keys and repost parents, `window` computes what a tier
decision reads, and `watchlists` holds the rules, lexicon changes and tier state.
"""
