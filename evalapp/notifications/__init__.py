"""The in-app inbox, with a copy by e-mail when SMTP is configured and the account has an address."""
