mod backstop;
mod faults;
mod inbound;
mod interleavings;
mod outbound;
mod races;
mod smoke;
