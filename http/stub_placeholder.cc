namespace ringshard::http { int placeholder_symbol = 0; }
