mod backstop;
mod inbound;
mod outbound;
mod smoke;
