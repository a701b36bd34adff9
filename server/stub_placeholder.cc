namespace ringshard::server { int placeholder_symbol = 0; }
