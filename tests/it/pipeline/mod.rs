mod backstop;
mod inbound;
mod smoke;
