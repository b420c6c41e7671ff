package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/pion/webrtc/v3"

	"careway/auth"
	"careway/models"
	"careway/signaling"
)

// Lives of the call credentials.
const (
	ticketTTL  = 30 * time.Second // a socket ticket (the API contract)
	guestTTL   = 4 * time.Hour    // a guest token, at most (never beyond the call's end)
	echoCallID = models.CallID("echo")
)

// ticketAnswer carries a one-time socket ticket and the ICE servers to use with it.
type ticketAnswer struct {
	CallID     models.CallID      `json:"callId"`
	Ticket     string             `json:"ticket"`
	ExpiresAt  time.Time          `json:"expiresAt"`
	ICEServers []webrtc.ICEServer `json:"iceServers"`
}

// newSecret returns a 256-bit random token (base64url) and the hex SHA-256 under which it is
// stored: the database never holds a usable ticket, invite or guest token.
func newSecret() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("careway: crypto/rand failed: " + err.Error())
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashSecret(token)
}

func hashSecret(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// iceServers returns the ICE servers for one participant (none when not configured).
func (s *server) iceServers(user models.UserID) []webrtc.ICEServer {
	if s.iceFunc == nil {
		return []webrtc.ICEServer{}
	}
	if servers := s.iceFunc(string(user), s.now()); servers != nil {
		return servers
	}
	return []webrtc.ICEServer{}
}

// issueTicket stores a ticket for one participant of call and records them as a participant.
func (s *server) issueTicket(ctx context.Context, call models.CallID, p models.CallParticipant) (ticketAnswer, error) {
	now := s.now().UTC()
	token, hash := newSecret()
	t := &models.CallTicket{Hash: hash, CallID: call, UserID: p.UserID, Kind: p.Kind, Name: p.Name,
		IssuedAt: now, ExpiresAt: now.Add(ticketTTL)}
	if err := s.calls.CreateCallTicket(ctx, t); err != nil {
		return ticketAnswer{}, err
	}
	if call != echoCallID {
		p.FirstAt = now
		if err := s.calls.AddCallParticipant(ctx, call, p); err != nil {
			return ticketAnswer{}, err
		}
	}
	return ticketAnswer{CallID: call, Ticket: token, ExpiresAt: t.ExpiresAt, ICEServers: s.iceServers(p.UserID)}, nil
}

// participantKind is the part a signed-in user plays in a call, from their role.
func participantKind(r models.Role) models.ParticipantKind {
	switch r {
	case models.RoleClinician:
		return models.KindClinician
	case models.RoleCareHomeStaff:
		return models.KindCareStaff
	}
	return models.KindPatient
}

// userName returns the display name of a signed-in user (cached).
func (s *server) userName(ctx context.Context, id models.UserID) (string, error) {
	now := s.now()
	if name, ok := s.names.get(id, now); ok {
		return name, nil
	}
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return "", err
	}
	s.names.put(id, u.Name, now)
	return u.Name, nil
}

// handleCallTicket gives a participant of a call (clinicians of the patient's practice, the
// patient, care-home staff of the patient's home with the join_calls scope) a one-time ticket,
// valid 30 s, for the call's signaling socket.
func (s *server) handleCallTicket(c *fiber.Ctx) error {
	call, _, err := s.callFor(c, auth.ActJoinCall)
	if err != nil {
		return err
	}
	if err := openCall(call); err != nil {
		return err
	}
	a := actorOf(c)
	name, err := s.userName(c.UserContext(), a.UserID)
	if err != nil {
		return err
	}
	ans, err := s.issueTicket(c.UserContext(), call.ID, models.CallParticipant{UserID: a.UserID, Kind: participantKind(a.Role), Name: name})
	if err != nil {
		return err
	}
	if err := s.record(c, "call.ticket", call.PatientID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ans)
}

type inviteRequest struct {
	Name string           `json:"name"`
	Role models.GuestRole `json:"role"`
}

// inviteAnswer is a new invite with its secret, shown once: the link to send to the guest.
type inviteAnswer struct {
	*models.CallInvite
	Token string `json:"token"`
	Link  string `json:"link"` // relative to the console: the token is in the fragment, never sent to a server
}

// handleCallInvite lets a clinician of the patient's practice invite a guest (a carer or an
// interpreter) to an open call: a single-use link that expires after the configured time.
func (s *server) handleCallInvite(c *fiber.Ctx) error {
	var req inviteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	probs := models.ValidateName("name", req.Name)
	if !req.Role.Valid() {
		probs.Add("role", "must be carer or interpreter")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	call, _, err := s.callFor(c, auth.ActManageCall)
	if err != nil {
		return err
	}
	if err := openCall(call); err != nil {
		return err
	}
	now := s.now().UTC()
	token, hash := newSecret()
	inv := &models.CallInvite{CallID: call.ID, Hash: hash, Role: req.Role, Name: req.Name, CreatedBy: actorOf(c).UserID,
		CreatedAt: now, ExpiresAt: now.Add(s.inviteTTL)}
	if err := s.calls.CreateCallInvite(c.UserContext(), inv); err != nil {
		return err
	}
	if err := s.record(c, "call.invite", call.PatientID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(inviteAnswer{CallInvite: inv, Token: token, Link: "/#/join/" + token})
}

type redeemRequest struct {
	Token string `json:"token"`
}

// redeemAnswer is what a guest gets for an invite: a ticket for the socket now, and a guest
// token that fetches further tickets for this call only (after a network change).
type redeemAnswer struct {
	ticketAnswer
	Name           string           `json:"name"`
	Role           models.GuestRole `json:"role"`
	GuestToken     string           `json:"guestToken"`
	GuestExpiresAt time.Time        `json:"guestExpiresAt"`
}

// handleInviteRedeem turns a guest's invite into a ticket, without an account. The link works
// once: a second use, an expired link or an ended call is refused.
func (s *server) handleInviteRedeem(c *fiber.Ctx) error {
	var req redeemRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > 100 {
		return fieldError("token", "is not an invitation token")
	}
	ctx, now := c.UserContext(), s.now().UTC()
	guest, guestHash := newSecret()
	inv, err := s.calls.RedeemCallInvite(ctx, hashSecret(req.Token), guestHash, now.Add(guestTTL), now)
	if err != nil {
		if aerr := s.guestAudit(c, "call.invite.redeem", "", nil, models.OutcomeDenied, models.ErrorCode(err)); aerr != nil {
			return aerr
		}
		return asUnauthorized(err)
	}
	call, err := s.calls.CallByID(ctx, inv.CallID)
	if err != nil {
		return err
	}
	if err := openCall(call); err != nil {
		return err
	}
	ans, err := s.issueTicket(ctx, call.ID, models.CallParticipant{UserID: inv.GuestUserID(), Kind: models.KindGuest, Name: inv.Name})
	if err != nil {
		return err
	}
	if err := s.guestAudit(c, "call.invite.redeem", inv.GuestUserID(), call, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(redeemAnswer{ticketAnswer: ans, Name: inv.Name, Role: inv.Role, GuestToken: guest,
		GuestExpiresAt: now.Add(guestTTL)})
}

type guestTicketRequest struct {
	GuestToken string `json:"guestToken"`
}

// handleGuestTicket gives a guest who redeemed an invite a new ticket for the same call.
func (s *server) handleGuestTicket(c *fiber.Ctx) error {
	return s.guestTicket(c, false)
}

// handleGuestEchoTicket gives a guest a ticket for a pre-call check, so that a carer or an
// interpreter can check camera, microphone and network from the invite page.
func (s *server) handleGuestEchoTicket(c *fiber.Ctx) error {
	return s.guestTicket(c, true)
}

// guestTicket issues a ticket to the holder of a guest token: for the invite's call, or for a
// pre-call check (echo).
func (s *server) guestTicket(c *fiber.Ctx, echo bool) error {
	var req guestTicketRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.GuestToken == "" || len(req.GuestToken) > 100 {
		return fieldError("guestToken", "is not a guest token")
	}
	ctx := c.UserContext()
	inv, err := s.calls.CallInviteByGuest(ctx, hashSecret(req.GuestToken), s.now())
	if err != nil {
		if aerr := s.guestAudit(c, "call.guest.ticket", "", nil, models.OutcomeDenied, models.ErrorCode(err)); aerr != nil {
			return aerr
		}
		return asUnauthorized(err)
	}
	guest := models.CallParticipant{UserID: inv.GuestUserID(), Kind: models.KindGuest, Name: inv.Name}
	if echo {
		ans, err := s.issueTicket(ctx, echoCallID, guest)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(ans)
	}
	call, err := s.calls.CallByID(ctx, inv.CallID)
	if err != nil {
		return err
	}
	if err := openCall(call); err != nil {
		return err
	}
	ans, err := s.issueTicket(ctx, call.ID, guest)
	if err != nil {
		return err
	}
	if err := s.guestAudit(c, "call.guest.ticket", inv.GuestUserID(), call, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ans)
}

// guestAudit records an event whose actor is a guest (or nobody yet): the audit trail has no
// signed-in actor for these requests. call may be nil.
func (s *server) guestAudit(c *fiber.Ctx, action string, actor models.UserID, call *models.Call, outcome, reason string) error {
	e := &models.AuditEvent{ActorID: actor, Action: action, Outcome: outcome, Reason: reason,
		RequestID: requestID(c), ClientAddr: s.clientAddr(c)}
	if call != nil {
		e.PatientID, e.Resource = call.PatientID, string(call.ID)
	}
	return s.appendAudit(c.UserContext(), e)
}

// asUnauthorized turns the refusal of a ticket, invite or guest token into EUNAUTHORIZED: a
// caller who holds no valid credential learns nothing about which it was, beyond the message.
func asUnauthorized(err error) error {
	switch models.ErrorCode(err) {
	case models.ENOTFOUND, models.ECONFLICT:
		return models.Errorf(models.EUNAUTHORIZED, "%s", models.ErrorMessage(err))
	}
	return err
}

// handleCallSocket upgrades a ticket holder to the call's signaling socket: the ticket (single
// use, 30 s, bound to one user and this call) is the credential, checked with the Origin before
// the upgrade; the hub then runs the socket.
func (s *server) handleCallSocket(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This is a WebSocket endpoint.")
	}
	id := models.CallID(utils.CopyString(c.Params("callId")))
	if !models.IsUUID(string(id)) {
		return models.Errorf(models.ENOTFOUND, "No call has this id.")
	}
	t, err := s.consumeTicket(c, id)
	if err != nil {
		return err
	}
	call, err := s.calls.CallByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := openCall(call); err != nil {
		return err
	}
	if err := s.ticketAudit(c, "call.join", t, call.PatientID, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	who := signaling.Identity{UserID: string(t.UserID), Role: signaling.Role(t.Kind), Name: t.Name}
	return s.upgrade(c, func(conn signaling.Conn) {
		if err := s.media.Join(context.Background(), id, who, conn); err != nil {
			s.log.Warn("call socket ended with an error", "callId", id, "err", err)
		}
	})
}

// consumeTicket uses up the ?ticket= of a socket request for call, auditing a refusal.
func (s *server) consumeTicket(c *fiber.Ctx, call models.CallID) (*models.CallTicket, error) {
	if s.media == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "Video calls are not enabled on this server.")
	}
	if !originAllowed(c.Get(fiber.HeaderOrigin), c.Hostname(), s.wsOrigins) {
		return nil, models.Errorf(models.EFORBIDDEN, "This page's origin may not open a call socket.")
	}
	ticket := c.Query("ticket")
	if ticket == "" || len(ticket) > 100 {
		return nil, models.Errorf(models.EUNAUTHORIZED, "A ticket is required.")
	}
	t, err := s.calls.ConsumeCallTicket(c.UserContext(), hashSecret(ticket), call, s.now())
	if err != nil {
		if aerr := s.ticketAudit(c, "call.join", nil, "", models.OutcomeDenied, models.ErrorCode(err)); aerr != nil {
			return nil, aerr
		}
		return nil, asUnauthorized(err)
	}
	return t, nil
}

// ticketAudit records a socket event; its actor is the ticket's holder (nil before a ticket
// was accepted).
func (s *server) ticketAudit(c *fiber.Ctx, action string, t *models.CallTicket, patient models.PatientID, outcome, reason string) error {
	e := &models.AuditEvent{Action: action, PatientID: patient, Resource: string(c.Params("callId")), Outcome: outcome,
		Reason: reason, RequestID: requestID(c), ClientAddr: s.clientAddr(c)}
	if t != nil {
		e.ActorID = t.UserID
		if t.Kind != models.KindGuest {
			e.ActorRole = models.Role(t.Kind)
		}
	}
	return s.appendAudit(c.UserContext(), e)
}

// handleEchoTicket gives any signed-in user a ticket for a pre-call check.
func (s *server) handleEchoTicket(c *fiber.Ctx) error {
	a := actorOf(c)
	name, err := s.userName(c.UserContext(), a.UserID)
	if err != nil {
		return err
	}
	ans, err := s.issueTicket(c.UserContext(), echoCallID, models.CallParticipant{UserID: a.UserID, Kind: participantKind(a.Role), Name: name})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ans)
}

// handleEchoSocket runs a pre-call check: the server sends the client's own media back and
// reports bitrate, loss and round-trip time.
func (s *server) handleEchoSocket(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This is a WebSocket endpoint.")
	}
	t, err := s.consumeTicket(c, echoCallID)
	if err != nil {
		return err
	}
	who := signaling.Identity{UserID: string(t.UserID), Role: signaling.Role(t.Kind), Name: t.Name}
	return s.upgrade(c, func(conn signaling.Conn) {
		if err := s.media.Check(context.Background(), who, conn); err != nil {
			s.log.Warn("check socket ended with an error", "err", err)
		}
	})
}

// handleICEServers returns the STUN/TURN servers for the caller, with TURN credentials valid
// for the configured time.
func (s *server) handleICEServers(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"iceServers": s.iceServers(actorOf(c).UserID)})
}
