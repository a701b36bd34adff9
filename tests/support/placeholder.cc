namespace ringshard::test { int placeholder_symbol = 0; }
