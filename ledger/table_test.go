package ledger

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/walletd/walletd"
)

type row struct {
	N int `json:"n"`
}

func TestTable(t *testing.T) {
	var j journal
	tb := newTable[row]("row", &j)
	if err := tb.load("a", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	committedA := tb.get("a")

	t.Run("RollbackCommand", func(t *testing.T) {
		mark := j.mark()
		tb.put("b", &row{N: 2}, 7)
		tb.put("a", &row{N: 10}, 8)
		tb.put("a", &row{N: 11}, 9)
		if got := tb.ids(); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Fatalf("ids %v", got)
		}
		if tb.get("a").N != 11 || tb.changed["a"] != 9 || !reflect.DeepEqual(tb.order, []string{"b", "a"}) {
			t.Fatalf("after puts: a=%+v changed=%v order=%v", tb.get("a"), tb.changed, tb.order)
		}
		j.rollback(mark)
		if tb.get("a") != committedA || tb.get("b") != nil || len(tb.changed) != 0 || len(tb.order) != 0 {
			t.Fatalf("after rollback: a=%+v b=%+v changed=%v order=%v", tb.get("a"), tb.get("b"), tb.changed, tb.order)
		}
		if committedA.N != 1 {
			t.Fatal("a committed row was changed in place")
		}
	})
	t.Run("Edit", func(t *testing.T) {
		e := tb.edit("a")
		if e == committedA {
			t.Fatal("edit handed out the committed row")
		}
		e.N = 5
		mark := j.mark()
		e2 := tb.edit("a") // the batch's own copy, changed in place
		if e2 != e {
			t.Fatal("a second edit in a batch copied again")
		}
		e2.N = 6
		j.rollback(mark) // the second command fails
		if tb.get("a").N != 5 {
			t.Fatalf("after a command's rollback a=%d, want 5", tb.get("a").N)
		}
		j.rollback(0) // the batch's commit fails
		if tb.get("a") != committedA || committedA.N != 1 || len(tb.order) != 0 {
			t.Fatalf("after the batch's rollback: a=%+v", tb.get("a"))
		}
	})
	t.Run("Commit", func(t *testing.T) {
		tb.put("c", &row{N: 3}, 4)
		tb.edit("a").N = 2
		got, err := tb.stored(nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []*walletd.StoredObject{
			{Kind: "row", ID: "c", Data: []byte(`{"n":3}`), Seq: 4},
			{Kind: "row", ID: "a", Data: []byte(`{"n":2}`), Seq: 0},
		}
		if !reflect.DeepEqual(got, want) {
			b, _ := json.Marshal(got)
			t.Fatalf("stored %s", b)
		}
		j.forget()
		tb.settle()
		if len(j.undo) != 0 || len(tb.changed) != 0 || len(tb.order) != 0 || tb.get("a").N != 2 || tb.get("c").N != 3 {
			t.Fatalf("after commit: %+v", tb)
		}
		if rows := tb.changes(); len(rows) != 0 {
			t.Fatalf("changes after commit: %v", rows)
		}
		// The next batch copies the committed row again before changing it.
		committed := tb.get("a")
		tb.edit("a").N = 9
		j.rollback(0)
		if tb.get("a") != committed || committed.N != 2 {
			t.Fatal("a committed row was changed by the next batch")
		}
	})
	t.Run("ErrLoad", func(t *testing.T) {
		if err := tb.load("x", []byte(`{"n":"one"}`)); err == nil {
			t.Fatal("load of bad JSON succeeded")
		}
	})
}

func TestState_RestoreObject(t *testing.T) {
	var s state
	s.initState()
	if err := s.restoreObject(&walletd.StoredObject{Kind: walletd.ObjTopup, ID: "top_1", Data: []byte(`{"id":"top_1","amount":"25.00"}`)}); err != nil {
		t.Fatal(err)
	}
	if top := s.topups.get("top_1"); top == nil || top.Amount.String() != "25.00" {
		t.Fatalf("restored top-up %+v", top)
	}
	for _, o := range []*walletd.StoredObject{
		{Kind: "nope", ID: "x", Data: []byte(`{}`)},
		{Kind: walletd.ObjTopup, ID: "top_2", Data: []byte(`{"amount":"25,00"}`)},
		{Kind: walletd.ObjOrder, ID: "o", Data: []byte(`{"total":"-1"}`)},
	} {
		if err := s.restoreObject(o); err == nil {
			t.Errorf("restoreObject(%s %s %s) succeeded", o.Kind, o.ID, o.Data)
		}
	}
	if len(s.kinds) != len(s.objects) {
		t.Fatalf("%d kinds persisted, %d tables", len(s.kinds), len(s.objects))
	}
}
