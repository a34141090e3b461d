mod backstop;
mod smoke;
