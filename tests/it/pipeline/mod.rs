mod inbound;
mod smoke;
