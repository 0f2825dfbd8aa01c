"""Operations around the kiosk: systemd notify, status file, logs, secrets, PIN, lock, doctor."""
