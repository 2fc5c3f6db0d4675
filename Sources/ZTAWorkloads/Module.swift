// Placeholder so the module builds; real code lands with its issue.
