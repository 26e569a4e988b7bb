# Copy to instance/config.py and adjust. Environment variables override these values.

# PostgreSQL instead of the embedded SQLite database:
# SQLALCHEMY_DATABASE_URI = "postgresql://evalapp@127.0.0.1:5432/evalapp"

# Keep national-ID hashes stable even if the secret key is rotated:
# ID_HASH_KEY = "a long random string"

# Serve over HTTPS only:
# SESSION_COOKIE_SECURE = True
# REMEMBER_COOKIE_SECURE = True

# Which unions must be evaluated every year (the coverage figures): these kinds, and grassroots
# unions of these sectors with at least this many active members.
# COVERAGE_RULES = {"kinds": ["town"], "sectors": ["non_public_enterprise"], "min_members": 100}
