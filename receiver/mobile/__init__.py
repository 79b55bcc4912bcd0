"""The person on the move: a mobile panic button (a web app the receiver serves to a phone).

A press enters the event store as an event of the person's account, through the same commit
and de-duplication as a DC-09 event, so the alarm desk, queue, priorities and audit apply
unchanged; positions, the listen-in recording and the call-back hang off that alarm here.
"""
