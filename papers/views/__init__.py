"""Paper views, one module per area: the feed and a paper's page, the library, fetching,
watch rules, sharing and the Lab page, threads, and the Atom feeds."""
