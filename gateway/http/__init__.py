"""HTTP conventions of TradingView's broker API: envelope, errors, CORS, forms, auth."""
