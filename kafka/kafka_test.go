package kafka

import "testing"

func TestUUIDText(t *testing.T) {
	u := UUID{0x1d, 0x1e, 0x9b, 0x1d, 0x5c, 0x5b, 0x4a, 0x2f, 0x8a, 0x6b, 0x0c, 0x7e, 0x3f, 0x2d, 0x1a, 0x09}
	if got, want := u.String(), "HR6bHVxbSi-Kawx-Py0aCQ"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	back, err := ParseUUID(u.String())
	if err != nil || back != u {
		t.Fatalf("ParseUUID round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "short", "HR6bHVxbSi-Kawx-Py0aC=", "HR6bHVxbSi+Kawx/Py0aCQ"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

func TestDerivedUUIDDeterministic(t *testing.T) {
	a, b := DerivedUUID("acl", "x"), DerivedUUID("acl", "x")
	if a != b || a.IsZero() || a.String()[0] == '-' {
		t.Fatalf("derived uuid %v %v", a, b)
	}
	if DerivedUUID("ac", "lx") == a {
		t.Fatal("length-prefixing failed: different parts gave the same id")
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct{ in, out string }{
		{"user/1@prod", "user%2F1%40prod"},
		{"CN=bob,O=acme", "CN%3Dbob%2CO%3Dacme"},
		{"client/1@domain", "client%2F1%40domain"},
		{"a b*c+d", "a%20b%2Ac%2Bd"},
		{"plain-name_1.2", "plain-name_1.2"},
		{"ünï", "%C3%BCn%C3%AF"},
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.out {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.out)
		}
		back, err := Desanitize(c.out)
		if err != nil || back != c.in {
			t.Errorf("Desanitize(%q) = %q, %v; want %q", c.out, back, err, c.in)
		}
	}
	if got, _ := Desanitize("a+b"); got != "a b" {
		t.Errorf("Desanitize(a+b) = %q, want \"a b\"", got)
	}
	if _, err := Desanitize("bad%zz"); err == nil {
		t.Error("Desanitize accepted a bad escape")
	}
}

func TestLookupEnum(t *testing.T) {
	for _, in := range []string{"TransactionalId", "TRANSACTIONAL_ID", "transactional_id"} {
		k, c, ok := LookupEnum(ResourceTypeCodes, in)
		if !ok || k != "TransactionalId" || c != 5 {
			t.Errorf("LookupEnum(%q) = %q %d %v", in, k, c, ok)
		}
	}
	if _, _, ok := LookupEnum(OperationCodes, "Nope"); ok {
		t.Error("unknown operation accepted")
	}
}
