"""French personal-data recognisers (NIR, phones, places, person names) and their context words."""
