//! Reporters: turn scenario events and results into the terminal view, JSON, JUnit, HTML.
