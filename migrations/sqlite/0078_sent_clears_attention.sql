-- A message that went out shows that its address works again: the participant's "needs
-- attention" mark (set when a server refused the address) is cleared in the same statement
-- that records the send, so the outbox worker records a send with one statement instead of a
-- transaction of two. Only when the address is still the one the message went to.
CREATE TRIGGER outbox_sent_clears_attention AFTER UPDATE OF state ON outbox
WHEN NEW.state = 'sent' AND OLD.state <> 'sent' AND NEW.participant_id IS NOT NULL BEGIN
    UPDATE participants SET needs_attention = NULL, updated_at = NEW.sent_at
    WHERE id = NEW.participant_id AND needs_attention IS NOT NULL AND email = NEW.to_address;
END;
