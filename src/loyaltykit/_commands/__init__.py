"""The commands of `Program`, one module per concern.

Each module holds plain functions whose first parameter is the program (`self:
ProgramKernel`); `loyaltykit.program` binds them into `Program` by name, so they are its
methods with no call in between. A command that needs another concern calls that module's
function directly (orders complete referrals, referrals issue rewards).
"""
