mod outbound;
mod smoke;
