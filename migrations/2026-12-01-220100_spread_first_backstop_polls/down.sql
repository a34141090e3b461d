-- Nothing to undo: the due times are data, and NULL would only mean "due at once".
SELECT 1;
