"""The browser dashboard: static pages (static/) and the read models its views need."""
