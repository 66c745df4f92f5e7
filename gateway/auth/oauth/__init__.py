"""OAuth2 for TradingView: the authorization server, its grants, clients and login page."""
