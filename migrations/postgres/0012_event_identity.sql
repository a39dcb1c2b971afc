-- An event sign-up with an address that is already known gets a person of its own, with no
-- address and the name typed on the phone; the typed address waits here until its owner
-- follows the emailed link, which joins this membership to the person with that address.
ALTER TABLE memberships ADD COLUMN claimed_email TEXT;
