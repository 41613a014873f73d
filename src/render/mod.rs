//! Rendering: reminders and digests, templates, per-platform markup and splitting.
