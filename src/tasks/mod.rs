//! The task list: import from the office's file, then the model the rest of weekbell uses.

mod model;

pub use model::{Assignee, RowRef, RowWarning, Status, Task, TaskList};
