-- Argo CD health check for pcluster.imageops.dev/CustomImage (Lua 5.1, as Argo CD embeds).
-- Healthy when Ready; Progressing while observing, building or deleting; Degraded when a deletion is
-- blocked or failed, or AWS cannot be read. The message is the condition's own.
local hs = {}
local blocked = { ImageInUse = true, ImageShared = true, OwnershipMismatch = true, StackDeleteFailed = true, AccessDenied = true }

local function condition(t)
  if obj.status == nil or obj.status.conditions == nil then return nil end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == t then return c end
  end
  return nil
end

local ready = condition("Ready")
local synced = condition("Synced")
local deleting = condition("Deleting")

if deleting ~= nil and deleting.status == "False" and blocked[deleting.reason] then
  hs.status = "Degraded"
  hs.message = deleting.reason .. ": " .. (deleting.message or "")
  return hs
end
if synced ~= nil and synced.status == "False" then
  hs.status = "Degraded"
  hs.message = synced.reason .. ": " .. (synced.message or "")
  return hs
end
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if deleting ~= nil then
    hs.message = deleting.reason .. ": " .. (deleting.message or "")
  else
    hs.message = "Deletion requested"
  end
  return hs
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the image"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready.reason == "Building" or ready.reason == "DeletionInProgress" then
  hs.status = "Progressing"
else
  hs.status = "Degraded"
end
hs.message = ready.reason .. ": " .. (ready.message or "")
return hs
