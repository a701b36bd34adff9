// Placeholder so the engine target has a source while the engine is written.
namespace ringshard::engine { int placeholder_symbol = 0; }
