-- The first login of a fused legal account (issue 16): step ① confirms the
-- contact person (editable) and proves the contact's phone by a code. The
-- contact person waits in the completion flow with the rest of ① and ②
-- and reaches the account at ③, the face check of the legal
-- representative, in the transaction that activates the account
-- (account.Complete). A contact the legal person set loses its
-- department source: no import replaces it. (The login service's UPDATE
-- of account is 012's: no new grant.)
ALTER TABLE completion_flow ADD COLUMN contact_name text CHECK (char_length(contact_name) BETWEEN 1 AND 30);
