"""Review views, one module per area: drafts and their versions, venues and deadlines, review
rounds with conflicts and bids, the review form, a draft's discussion, and the queues."""
