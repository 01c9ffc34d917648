"""The robot agent (`robofleet robot`): takes jobs from the server and runs each as a child
process, speaking the robot protocol of docs/robot-protocol.md.

- `agent`: the main loop (outbox, heartbeat, waitJob) and shutdown on SIGTERM/SIGINT;
- `execution`: one job from In Progress to its final report; `preparation`: its package and
  Python; `runner` and `control`: the child process and the folder it shares with the SDK;
- `packages`, `environments`: package cache and layout, manifests, per-package venvs;
- `client`, `protocol`: HTTP with retries, and the protocol's codes and shapes;
- `logship`: log lines in batches; `outbox`: final reports that survive restarts;
- `robot_framework`: output.xml to log lines and a return value;
- `platform`: the only OS-specific code; `files`: atomic writes, a cross-process lock;
  `config`: settings from ROBOFLEET_* variables.

The agent never imports the server: it talks to it over HTTP only.
"""
