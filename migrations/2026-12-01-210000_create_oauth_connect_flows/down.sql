DROP TABLE oauth_connect_flows;
