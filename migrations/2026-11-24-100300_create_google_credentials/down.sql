DROP TABLE google_credentials;
