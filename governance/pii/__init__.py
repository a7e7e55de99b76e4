"""French personal-data recognisers (NIR, phones, places, person names), their context words, the word lists telling names from ordinary words, and the tidying of the spaCy model's spans."""
