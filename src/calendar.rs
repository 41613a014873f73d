//! Holiday calendars (holiday-cn JSON and ICS): off days and make-up workdays.
