#![allow(dead_code)]
pub mod fake_cloud;
pub mod fake_steps;
pub mod scripted_server;
