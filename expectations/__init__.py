"""Great Expectations suites (JSON, reviewed like code) and the code that runs them."""
