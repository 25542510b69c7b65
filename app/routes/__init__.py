"""One router per resource; route functions stay thin (parse, call the manager, shape)."""
